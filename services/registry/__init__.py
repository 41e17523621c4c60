"""The registry service (基础台账服务): divisions, member units, sites, facilities, vehicles."""
