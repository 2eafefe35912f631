-- Registration events are built by musterd from what it just stored (id, registering state; status `registered`,
-- no credential level), in one statement of pg_notify calls, instead of by a function that read the volunteers back:
-- that re-read, planned afresh at every call, cost PostgreSQL about a quarter of its time under a registration
-- load. The events are the same text as before. A musterd from before this migration, still running during a
-- rolling upgrade, fails to announce (it logs the failure; the registrations themselves are unaffected).
DROP FUNCTION muster_announce_registrations(bigint[]);
