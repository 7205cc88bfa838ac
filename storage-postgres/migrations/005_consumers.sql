-- Carespace on PostgreSQL, version 5: event consumers (R42). Each row is a host's named
-- reader of the log and the last event number it acknowledged; acknowledging updates
-- it in place and appends no event.
CREATE TABLE consumers (
    name         text   COLLATE "C" NOT NULL PRIMARY KEY
                        CHECK (name ~ '^[A-Za-z0-9._-]{1,64}$'),
    acknowledged bigint NOT NULL CHECK (acknowledged >= 0),
    created_at   bigint NOT NULL,
    updated_at   bigint NOT NULL
);

-- A wait for the next event (R42) listens on the channel `carespace_events`: each
-- statement that appends events notifies it, and PostgreSQL delivers the notification
-- when (and only if) the transaction commits. The payload is the schema's name, for
-- an operator watching with `LISTEN carespace_events`.
CREATE FUNCTION carespace_notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('carespace_events', current_schema());
    RETURN NULL;
END
$$;
CREATE TRIGGER events_notify AFTER INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION carespace_notify_events();
