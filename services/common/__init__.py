"""The small shared kernel of Sortline's services: nothing domain-specific lives here."""
