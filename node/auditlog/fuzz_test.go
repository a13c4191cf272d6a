package auditlog

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

func FuzzDecodeEntry(f *testing.F) {
	for i := range 5 {
		b, _ := sampleEntry(i).Encode()
		f.Add(b)
	}
	f.Add([]byte(`{"a":"x","f":{},"k":"consultation","t":"2026-03-01T09:00:00Z"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEntry(b)
		if err != nil {
			return
		}
		again, err := e.Encode()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("decoded entry does not re-encode to its bytes: %q %v", again, err)
		}
	})
}

func FuzzVerifyBundle(f *testing.F) {
	l, err := Open(f.TempDir(), testSigners(f, "node"), WithOrigin(testOrigin))
	if err != nil {
		f.Fatal(err)
	}
	fill(f, l, 0, 3)
	l.Publish(context.Background())
	fill(f, l, 3, 5)
	good := export(f, l)
	l.Close()
	f.Add(good)
	f.Add([]byte(bundleMagic))
	f.Add([]byte(bundleMagic + "z\x10"))
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := VerifyBundle(bytes.NewReader(b))
		if err == nil && (res.Failure != nil || len(res.Checkpoints) == 0) {
			t.Fatal("success without checkpoints, or with a failure")
		}
		_, _ = ReportBundle(bytes.NewReader(b), t0, t0.Add(1e12))
	})
}

// The log file parser: Open never panics on any file, and a log it opens
// verifies.
func FuzzOpenFile(f *testing.F) {
	dir := f.TempDir()
	l, err := Open(dir, testSigners(f, "node"), WithOrigin(testOrigin))
	if err != nil {
		f.Fatal(err)
	}
	fill(f, l, 0, 4)
	l.Close()
	good, _ := os.ReadFile(filepath.Join(dir, fileName))
	f.Add(good)
	f.Add(fileHeader[:])
	signers := testSigners(f, "node")
	f.Fuzz(func(t *testing.T, b []byte) {
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, fileName), b, 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := Open(d, signers, WithOrigin(testOrigin))
		if err != nil {
			return
		}
		defer l.Close()
		var out bytes.Buffer
		if err := l.Export(context.Background(), &out); err != nil {
			return // a stored entry that does not decode is exported, then fails verification
		}
		_, _ = VerifyBundle(&out)
	})
}
