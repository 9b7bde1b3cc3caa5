package dberr

import (
	"context"

	"github.com/jmoiron/sqlx"
)

// InTx runs fn in a transaction, committing only if fn returns nil. InnoDB
// may pick a transaction as a deadlock victim when several lock the same
// rows; that transaction is rolled back whole, so fn runs again (up to five
// times) and must set its results afresh on each run.
func InTx(ctx context.Context, db *sqlx.DB, fn func(*sqlx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := tryTx(ctx, db, fn)
		if !IsDeadlock(err) || attempt == 5 {
			return err
		}
	}
}

func tryTx(ctx context.Context, db *sqlx.DB, fn func(*sqlx.Tx) error) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return Translate(err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return Translate(tx.Commit())
}
