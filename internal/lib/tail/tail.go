// Package tail follows a table whose rows get AUTO_INCREMENT ids, in id
// order, without skipping a row that commits late. Concurrent
// transactions take ids in one order and may commit in another: a reader
// that saw id 11 and moved on would never see id 10 if it committed after.
// A Cursor therefore stops at a gap in the ids and waits for it to fill,
// up to a grace period; a gap still open after it is a rolled-back
// transaction (or a row deleted), and the cursor moves past it. So a
// position a Cursor has passed never has a row appear below it, unless a
// transaction kept an id uncommitted for longer than the grace period.
// The ids step by the server's auto_increment_increment (more than 1 on a
// Galera or multi-primary cluster). It imports nothing of Silo's.
package tail

import "time"

// Cursor is a position in such a table: the id of the last row taken.
// It is not safe for concurrent use.
type Cursor struct {
	pos   int64
	step  int64
	grace time.Duration
	// gaps maps the id after each gap seen (in the last rows given to
	// Take) to when the gap was first seen.
	gaps map[int64]time.Time
}

// New returns a cursor after id pos, on ids that step by step (at least
// 1), that waits up to grace at a gap.
func New(pos, step int64, grace time.Duration) *Cursor {
	return &Cursor{pos: pos, step: max(step, 1), grace: grace, gaps: map[int64]time.Time{}}
}

// Pos is the id of the last row taken (the one given to New at first).
func (c *Cursor) Pos() int64 { return c.pos }

// Take is given the ids of the rows found after Pos, ascending, at time
// now; it returns how many of them, from the first, may be delivered now,
// and moves Pos to the last of those. A row after a gap waits until the
// gap has been open for grace, counted from the first Take that saw it.
func (c *Cursor) Take(ids []int64, now time.Time) int {
	prev, n := c.pos, 0
	seen := make(map[int64]time.Time, len(c.gaps))
	blocked := false
	for i, id := range ids {
		if id <= prev {
			continue // not after the position: ignore it
		}
		if id != prev+c.step {
			first, ok := c.gaps[id]
			if !ok {
				first = now
			}
			seen[id] = first
			if now.Sub(first) < c.grace {
				blocked = true
			}
		}
		if blocked {
			continue // remember the later gaps' times too
		}
		prev, n = id, i+1
	}
	c.pos, c.gaps = prev, seen
	for id := range seen {
		if id <= prev {
			delete(seen, id)
		}
	}
	return n
}

// Skip moves Pos to pos when it is ahead (a reader that knows the rows
// below pos are gone).
func (c *Cursor) Skip(pos int64) {
	if pos > c.pos {
		c.pos = pos
		clear(c.gaps)
	}
}
