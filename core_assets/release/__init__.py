"""The release: the three levers (release, rollback, promote), the alias history read back from
Dagster's event log, registry access, the readiness decision, and the move itself (alias moved,
every model server hot-swapped and verified). Plain functions; the assets and sensors stay thin."""
