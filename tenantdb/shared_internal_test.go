package tenantdb

import (
	"maps"
	"slices"
	"testing"
)

// SHOW GRANTS as MariaDB 10.11 and MySQL 8.4 print a login's roles.
func TestParseRoleGrants(t *testing.T) {
	for _, c := range []struct {
		name  string
		lines []string
		want  []string
	}{
		{"mariadb", []string{
			"GRANT `t_u1_r` TO `t_shared`@`%`",
			"GRANT `t_u2_r` TO `t_shared`@`%`",
			"GRANT USAGE ON *.* TO `t_shared`@`%` IDENTIFIED BY PASSWORD '*B69027D44F6E5EDC07F1AEAD1477967B16F28227'",
		}, []string{"t_u1_r", "t_u2_r"}},
		{"mysql", []string{
			"GRANT USAGE ON *.* TO `t_shared`@`%`",
			"GRANT `t_u1_r`@`%`,`t_u2_r`@`%` TO `t_shared`@`%`",
		}, []string{"t_u1_r", "t_u2_r"}},
		{"none", []string{"GRANT USAGE ON *.* TO `t_shared`@`%`", "GRANT SELECT ON `x`.* TO `t_shared`@`%`"}, nil},
	} {
		got := slices.Sorted(maps.Keys(parseRoleGrants(c.lines)))
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// Only plain DML statements leave a shared connection reusable.
func TestPlainStatement(t *testing.T) {
	for q, want := range map[string]bool{
		"SELECT v FROM kv WHERE id = ?":                        true,
		"\n\tselect(1)":                                        true,
		"INSERT INTO t (a) VALUES (?)":                         true,
		"UPDATE t SET email = 'a@b.c' WHERE id = ?":            true,
		"SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1)":       true,
		"DELETE FROM t WHERE id = ?":                           true,
		"SET ROLE `x`":                                         false,
		"USE `x`":                                              false,
		"START TRANSACTION":                                    false,
		"SELECT @x := v FROM kv":                               false,
		"SELECT v INTO @x FROM kv":                             false,
		"SELECT GET_LOCK('a', 0)":                              false,
		"/* c */ SELECT 1":                                     false,
		"SELECT 'it''s' , @x":                                  false,
		"SELECT 'a\\' @', @y":                                  false,
		"SELECT * FROM t INTO OUTFILE '/tmp/x'":                false,
		"CALL p()":                                             false,
		"SELECT `we@ird` FROM t":                               true,
		"SELECT \"a@b\" FROM t WHERE x = 'unterminated @ rest": true,
	} {
		if got := plainStatement(q); got != want {
			t.Errorf("plainStatement(%q) = %v, want %v", q, got, want)
		}
	}
}
