-- One database per process; each owns its tables and nobody reads another's.
CREATE DATABASE sortline_gateway;
CREATE DATABASE sortline_registry;
CREATE DATABASE sortline_assessment;
CREATE DATABASE sortline_supervision;
