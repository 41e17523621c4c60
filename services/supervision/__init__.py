"""The supervision service (督导检查服务)."""
