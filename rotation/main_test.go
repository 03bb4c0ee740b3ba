package rotation

import (
	"os"
	"testing"

	"github.com/credkeeper/credkeeper/vaultstore/vaulttest"
)

func TestMain(m *testing.M) { os.Exit(vaulttest.Main(m)) }
