package vaultstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/vaultstore"
	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

func TestValidateName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"ctrp-stage", true},
		{"dmp.alice_2", true},
		{"0", true},
		{"a23456789012345678901234567890123456789012345678901234567890123", true},
		{"a234567890123456789012345678901234567890123456789012345678901234", false},
		{"", false},
		{"../x", false},
		{"a/b", false},
		{"Prod", false},
		{"-lead", false},
		{".hidden", false},
		{"sp ace", false},
	} {
		err := vaultstore.ValidateName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, vaultstore.ErrInvalidName) {
			t.Errorf("ValidateName(%q) error %v is not ErrInvalidName", tc.name, err)
		}
	}
}

// A bad name is refused by the store itself, with its own error kind, and
// never becomes a path.
func TestBadNameIsRefusedBeforeAnyRequest(t *testing.T) {
	env := vaulttest.New(t).Store(t)
	ctx := context.Background()
	for _, name := range []string{"../x", "a/b", "", "UPPER"} {
		if _, err := env.GetCredential(ctx, name); !errors.Is(err, vaultstore.ErrInvalidName) {
			t.Errorf("GetCredential(%q): %v, want ErrInvalidName", name, err)
		}
		c := &vaultstore.Credential{Name: name, ClientID: "id", ClientSecret: secret.New("s")}
		if _, err := env.PutCredential(ctx, c, 0); !errors.Is(err, vaultstore.ErrInvalidName) {
			t.Errorf("PutCredential(%q): %v, want ErrInvalidName", name, err)
		}
	}
}
