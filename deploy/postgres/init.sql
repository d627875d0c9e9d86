-- One database per service: a service never reads another's tables (DESIGN.md).
-- The postgres image runs this once, as POSTGRES_USER (cadre), when its data volume is first
-- initialised; on an existing volume create a new service's database by hand (deploy/README.md).
CREATE DATABASE roster;
CREATE DATABASE scheduling;
CREATE DATABASE performance;
CREATE DATABASE training;
