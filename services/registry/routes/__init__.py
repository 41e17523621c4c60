"""HTTP routes of the registry, one module per sub-domain; ``services.registry.router`` joins them."""
