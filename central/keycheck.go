package central

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
)

// Sealer seals and opens secrets under the master key (secretbox.Box).
type Sealer interface {
	Seal(plaintext, aad []byte) []byte
	Open(sealed, aad []byte) ([]byte, error)
}

// ErrWrongMasterKey means the master key cannot open what the central
// database holds: it is not the key the installation's secrets were sealed with.
var ErrWrongMasterKey = errors.New("the master key (SILO_MASTER_KEY) cannot decrypt the secrets this central database holds: " +
	"it is not the key they were sealed with. Start with the installation's key (in development: the same " +
	"SILO_DEV_SECRETS_FILE, by default in your user config directory); nothing was changed")

// The known value sealed into master_key_check, and what it is bound to.
var (
	keyCheckPlain = []byte("silo master key check v1")
	keyCheckAAD   = []byte("silo:master_key_check")
)

// CheckMasterKey makes sure box holds the installation's master key before
// anything is sealed with it. It opens the check value stored in the
// central database; on a database without one (a new installation, or one
// from before the check existed) it tries the sealed DB passwords of
// existing tenants and spares instead and, when record is set, stores the
// check value. It returns ErrWrongMasterKey, changing nothing, if the key
// opens none of them.
func CheckMasterKey(ctx context.Context, db *sqlx.DB, box Sealer, record bool) error {
	sealed, err := readKeyCheck(ctx, db)
	if err != nil {
		return err
	}
	if sealed != nil {
		return openKeyCheck(box, sealed)
	}
	if err := openExistingSecrets(ctx, db, box); err != nil {
		return err
	}
	if !record {
		return nil
	}
	// Another instance starting at the same time may store its value first;
	// then it is that one this key must open.
	_, err = db.ExecContext(ctx, "INSERT IGNORE INTO master_key_check (id, sealed, created_at) VALUES (1, ?, ?)",
		box.Seal(keyCheckPlain, keyCheckAAD), time.Now().UTC())
	if err != nil {
		return fmt.Errorf("store the master key check: %w", translate(err))
	}
	if sealed, err = readKeyCheck(ctx, db); err != nil {
		return err
	}
	return openKeyCheck(box, sealed)
}

func openKeyCheck(box Sealer, sealed []byte) error {
	plain, err := box.Open(sealed, keyCheckAAD)
	if err != nil || !bytes.Equal(plain, keyCheckPlain) {
		return ErrWrongMasterKey
	}
	return nil
}

// openExistingSecrets tries the key on a few sealed DB passwords of tenants
// and spares: a right key opens every one, a wrong key none.
func openExistingSecrets(ctx context.Context, db *sqlx.DB, box Sealer) error {
	var rows []struct {
		User   string `db:"db_user"`
		Sealed []byte `db:"db_password_enc"`
	}
	err := db.SelectContext(ctx, &rows, `(SELECT db_user, db_password_enc FROM tenants WHERE LENGTH(db_password_enc) > 0 LIMIT 10)
		UNION ALL (SELECT db_user, db_password_enc FROM spare_databases WHERE LENGTH(db_password_enc) > 0 LIMIT 10)`)
	if noSuchTable(err) {
		return nil // a central database not yet migrated holds no sealed passwords
	}
	if err != nil {
		return fmt.Errorf("read sealed DB passwords: %w", translate(err))
	}
	for _, r := range rows {
		if _, err := box.Open(r.Sealed, []byte(r.User)); err == nil {
			return nil
		}
	}
	if len(rows) > 0 {
		return ErrWrongMasterKey
	}
	return nil
}

// CheckMasterKeyBeforeMigrating is CheckMasterKey, recording nothing, for
// the central database in cfg if it exists, whatever its schema version: a
// process with the wrong key must not even migrate the installation.
func CheckMasterKeyBeforeMigrating(ctx context.Context, cfg *mysql.Config, box Sealer) error {
	if err := RequireDatabase(ctx, cfg); errors.Is(err, ErrNoDatabase) {
		return nil // a new installation: nothing sealed yet
	} else if err != nil {
		return err
	}
	db, err := Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	return CheckMasterKey(ctx, db, box, false)
}

// noSuchTable reports a table that a database from before its migration lacks.
func noSuchTable(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1146
}

// readKeyCheck returns the stored check value, or nil if there is none.
func readKeyCheck(ctx context.Context, db *sqlx.DB) ([]byte, error) {
	var sealed []byte
	err := db.GetContext(ctx, &sealed, "SELECT sealed FROM master_key_check WHERE id = 1")
	if errors.Is(err, sql.ErrNoRows) || noSuchTable(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the master key check: %w", translate(err))
	}
	return sealed, nil
}
