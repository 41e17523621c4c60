"""The assessment service (考核评估服务)."""
