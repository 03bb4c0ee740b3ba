package view

import (
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/vaultstore"
)

func TestSilencesAreListedByCredentialName(t *testing.T) {
	now := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	all := map[string]*vaultstore.Silence{}
	for _, name := range []string{"dmptool", "ctrp-prod", "ctrp-int", "zeta", "ctrp-stage"} {
		all[name] = &vaultstore.Silence{Until: now.Add(time.Hour)}
	}
	var got []string
	for _, r := range Silences(all, now) {
		got = append(got, r.Credential)
	}
	want := []string{"ctrp-int", "ctrp-prod", "ctrp-stage", "dmptool", "zeta"}
	if len(got) != len(want) {
		t.Fatalf("rows %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("rows %v, want %v", got, want)
		}
	}
}
