//go:build faults

package main

import (
	"strings"
	"testing"
	"time"

	"github.com/credkeeper/credkeeper/internal/testutil"
)

func (d *runningDaemon) leading() bool {
	code, body := httpGet(d.t, d.addr+"/readyz")
	return code == 200 && strings.Contains(body, `"role":"leader"`)
}

// The fault: two daemon replicas, each pointed at its own standby of a
// Raft Vault cluster. The active Vault node is killed; then, once it is
// back, the node the leading replica talks to, so that the leader can reach
// no Vault at all. The other replica takes the lease once it lapses and
// goes on checking; when the first replica's node returns, it stays a
// standby. One leader at a time: nothing is lost or written twice
// (clusterWorld.account), and no notice goes out twice.
func TestFaultTwoReplicasAcrossVaultFailovers(t *testing.T) {
	w := newClusterWorld(t)
	c := w.c
	active := c.Node(c.Active())
	nodeA := c.Node(w.env.Addr)
	nodeB := 3 - active - nodeA
	t.Setenv("VAULT_ADDR", c.Addrs[nodeA])
	a := startDaemon(t, "replica-a")
	t.Setenv("VAULT_ADDR", c.Addrs[nodeB])
	b := startDaemon(t, "replica-b")
	testutil.Eventually(t, 20*time.Second, "every credential checked twice, one replica leading", func() bool {
		return w.checked(2, a, b) && a.leading() != b.leading()
	})

	// The active Vault node dies and comes back.
	if next := c.Kill(t, active); next == "" {
		t.Fatal("no active node after the kill")
	}
	total := func() int { return a.count("check", "") + b.count("check", "") }
	before := total()
	testutil.Eventually(t, 20*time.Second, "checks go on after the election", func() bool { return total() >= before+10 })
	c.Start(t, active)

	// The leading replica's own Vault node dies: it can reach no Vault.
	leader, follower, leaderNode := a, b, nodeA
	if b.leading() {
		leader, follower, leaderNode = b, a, nodeB
	}
	c.Kill(t, leaderNode)
	testutil.Eventually(t, 30*time.Second, "the other replica takes the lease", follower.leading)
	before = follower.count("check", "")
	testutil.Eventually(t, 20*time.Second, "the new leader checks", func() bool { return follower.count("check", "") >= before+10 })

	// The deposed replica's node returns: it stays a standby.
	c.Start(t, leaderNode)
	testutil.Eventually(t, 20*time.Second, "the deposed replica is ready, as a standby", func() bool {
		code, body := httpGet(t, leader.addr+"/readyz")
		return code == 200 && strings.Contains(body, `"role":"standby"`)
	})
	deposed := leader.count("check", "")
	time.Sleep(3 * time.Second)
	if got := leader.count("check", ""); got != deposed {
		t.Errorf("the deposed replica checked %d times while the other led", got-deposed)
	}
	if !follower.leading() {
		t.Error("the new leader lost the lease when the old one came back")
	}
	leader.stop()
	follower.stop()
	leader.logErrors()
	follower.logErrors()
	w.account(a, b)
}
