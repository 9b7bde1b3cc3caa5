package config_test

import (
	"os"
	"strings"
	"testing"

	"github.com/silo-dev/silo/config"
)

// The README's configuration table must list every setting with its default.
func TestREADMEListsEverySetting(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, s := range config.Settings() {
		env, def := s[0], s[1]
		row := "| `" + env + "` |"
		i := strings.Index(readme, row)
		if i < 0 {
			t.Errorf("README has no row for %s", env)
			continue
		}
		line := readme[i : i+strings.Index(readme[i:], "\n")]
		if def != "" && !strings.Contains(line, "`"+def+"`") {
			t.Errorf("README row for %s does not show its default %q: %s", env, def, line)
		}
	}
}
