package webfiles

import (
	"testing"
	"testing/fstest"
)

func TestLoadAndDir(t *testing.T) {
	fsys := fstest.MapFS{
		"dist/index.html":  {Data: []byte("<!doctype html>")},
		"dist/app.js":      {Data: []byte("console.log(1)")},
		"dist/app.js.map":  {Data: []byte("{}")},
		"dist/LICENSE":     {Data: []byte("MIT")},
		"dist/sub/deep.js": {Data: []byte("nested")},
	}
	files := Dir(fsys, "dist")
	want := map[string]string{
		"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
		"app.js.map": "application/json", "LICENSE": "text/plain; charset=utf-8",
	}
	if len(files) != len(want) {
		t.Fatalf("Dir loaded %d files, want %d (no subdirectory): %v", len(files), len(want), files)
	}
	for name, ct := range want {
		f := files[name]
		if f.ContentType != ct || len(f.Body) == 0 || len(f.ETag) != 34 || f.ETag[0] != '"' {
			t.Errorf("%s: %q, %d bytes, ETag %s", name, f.ContentType, len(f.Body), f.ETag)
		}
	}
	if files["app.js"].ETag == files["index.html"].ETag {
		t.Error("two different files have the same ETag")
	}
	if again := Load(fsys, "dist/app.js"); again.ETag != files["app.js"].ETag {
		t.Errorf("the ETag changed between loads: %s, %s", again.ETag, files["app.js"].ETag)
	}
}

func TestLoadMissingPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Load of a missing file did not panic")
		}
	}()
	Load(fstest.MapFS{}, "nope.js")
}
