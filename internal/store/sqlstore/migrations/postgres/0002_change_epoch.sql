-- Several servers share one PostgreSQL database; each keeps an in-memory
-- view of grants, services and credentials for the proxy. Every committed
-- change to what that view is built from bumps this counter, in the same
-- transaction (statement triggers, so no write can forget it), and each
-- server polls it to drop its view when it moved (internal/daemon).
-- The request log's tables change with every request and feed no view;
-- user sessions only when one is created or ended (their sliding expiry
-- is an UPDATE that changes no access).
CREATE TABLE change_epoch (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    n   BIGINT NOT NULL
);
INSERT INTO change_epoch (one, n) VALUES (1, 0);

CREATE FUNCTION bump_change_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE change_epoch SET n = n + 1 WHERE one = 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER keyring_changed AFTER INSERT OR UPDATE OR DELETE ON keyring FOR EACH STATEMENT EXECUTE FUNCTION bump_change_epoch();
CREATE TRIGGER users_changed AFTER INSERT OR UPDATE OR DELETE ON users FOR EACH STATEMENT EXECUTE FUNCTION bump_change_epoch();
CREATE TRIGGER user_sessions_changed AFTER INSERT OR DELETE ON user_sessions FOR EACH STATEMENT EXECUTE FUNCTION bump_change_epoch();
CREATE TRIGGER vaults_changed AFTER INSERT OR UPDATE OR DELETE ON vaults FOR EACH STATEMENT EXECUTE FUNCTION bump_change_epoch();
CREATE TRIGGER vault_users_changed AFTER INSERT OR UPDATE OR DELETE ON vault_users FOR EACH STATEMENT EXECUTE FUNCTION bump_change_epoch();
CREATE TRIGGER settings_changed AFTER INSERT OR UPDATE OR DELETE ON settings FOR EACH STATEMENT EXECUTE FUNCTION bump_change_epoch();
CREATE TRIGGER credentials_changed AFTER INSERT OR UPDATE OR DELETE ON credentials FOR EACH STATEMENT EXECUTE FUNCTION bump_change_epoch();
CREATE TRIGGER service_sets_changed AFTER INSERT OR UPDATE OR DELETE ON service_sets FOR EACH STATEMENT EXECUTE FUNCTION bump_change_epoch();
CREATE TRIGGER agents_changed AFTER INSERT OR UPDATE OR DELETE ON agents FOR EACH STATEMENT EXECUTE FUNCTION bump_change_epoch();
CREATE TRIGGER vault_agents_changed AFTER INSERT OR UPDATE OR DELETE ON vault_agents FOR EACH STATEMENT EXECUTE FUNCTION bump_change_epoch();
CREATE TRIGGER scoped_sessions_changed AFTER INSERT OR UPDATE OR DELETE ON scoped_sessions FOR EACH STATEMENT EXECUTE FUNCTION bump_change_epoch();
CREATE TRIGGER ca_changed AFTER INSERT OR UPDATE OR DELETE ON ca FOR EACH STATEMENT EXECUTE FUNCTION bump_change_epoch();
