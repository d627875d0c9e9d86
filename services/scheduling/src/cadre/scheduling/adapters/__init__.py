"""Scheduling adapters: database, gRPC, event mapping. The only place that imports I/O libraries."""
