-- Carespace on PostgreSQL, version 8: the update of a membership a command read fails
-- when there is no such membership (R35). A transaction's writes travel with its COMMIT
-- in one round trip, so the store cannot look at a statement's count of rows before it
-- commits: the function checks the count itself, and its failure aborts the
-- transaction, COMMIT included. The columns are those a membership's life changes.
CREATE FUNCTION carespace_update_membership(uuid, uuid, text, text, bigint, bigint, bigint, text, bigint, integer)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    changed bigint;
BEGIN
    UPDATE memberships SET role = $3, status = $4, joined_at = $5, updated_at = $6, ends_at = $7,
        end_notice = $8, escalated_at = $9, list_rank = $10
    WHERE workspace = $1 AND "user" = $2;
    GET DIAGNOSTICS changed = ROW_COUNT;
    IF changed <> 1 THEN
        RAISE EXCEPTION 'the update of a membership changed % rows where it must change one', changed
            USING ERRCODE = 'P0002';
    END IF;
END
$$;
