"""enforcement."""
