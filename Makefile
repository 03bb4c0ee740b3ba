# credkeeper's build. `make test` is what CI runs.

SHELL     := bash
.SHELLFLAGS := -o pipefail -ec
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/credkeeper/credkeeper/internal/version.Version=$(VERSION)
STATICCHECK_VERSION := v0.8.2

.PHONY: all build devvault demo test lint fuzz faults bench clean prerequisites-demo prerequisites-test

all: build

## build: bin/credkeeper and bin/credkeeper-emulator (the token endpoint emulator)
build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/credkeeper ./cmd/credkeeper
	$(GO) build -trimpath -o bin/credkeeper-emulator ./cmd/credkeeper-emulator

## devvault: bin/devvault, the real Vault core for tests and the demo.
## The first build downloads several GB of modules and compiles for minutes.
devvault: bin/devvault

bin/devvault: tools/devvault/go.mod tools/devvault/go.sum tools/devvault/*.go
	cd tools/devvault && $(GO) build -o ../../bin/devvault .

## prerequisites-*: what demo and test need besides Go and make, installed
## from Debian's packages when missing and the machine allows it; otherwise
## one line saying what to run, before any long build.
prerequisites-demo prerequisites-test: prerequisites-%:
	scripts/prerequisites.sh $*

## demo: devvault, the emulator, six credentials and the daemon, on loopback.
demo: prerequisites-demo
	$(MAKE) build devvault
	scripts/demo.sh

## test: vet and the whole test suite with the race detector, against a real
## Vault (a Vault test that cannot reach one fails), Debian's chromium (the
## status page), promtool and systemd-analyze, and node's oidc-provider
## (node 20.19 or later with npm; npm ci in tools/oidcprovider needs the npm
## registry). scripts/prerequisites.sh installs them first when missing, or
## says in one line what to install. The full log is bin/test.log; the
## status page's screenshots are bin/status-*.png.
test: prerequisites-test
	$(MAKE) devvault
	$(GO) vet ./...
	CREDKEEPER_REQUIRE_VAULT=1 CREDKEEPER_REQUIRE_BROWSER=1 CREDKEEPER_REQUIRE_OIDC_PROVIDER=1 $(GO) test -race -count=1 -timeout 30m -v ./... 2>&1 | tee bin/test.log | awk -f scripts/test-summary.awk

## lint: gofmt, vet and staticcheck, the fault suite's files included.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet -tags faults ./...
	cd tools/devvault && $(GO) vet ./...
	$(GO) test -count=1 -run 'TestNoWallClock' ./internal/lint/
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) -tags faults ./...

## fuzz: the long fuzzing runs of every parser of untrusted input (not part
## of test, whose runs take only the seeds), 60 s each.
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzClassify$$' -fuzztime $(FUZZTIME) ./oauthcheck
	$(GO) test -run '^$$' -fuzz '^FuzzTokenResponse$$' -fuzztime $(FUZZTIME) ./oauthcheck
	$(GO) test -run '^$$' -fuzz '^FuzzBoundary$$' -fuzztime $(FUZZTIME) ./oauthcheck
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./config
	$(GO) test -run '^$$' -fuzz '^FuzzLoadPlan$$' -fuzztime $(FUZZTIME) ./plan
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeRecords$$' -fuzztime $(FUZZTIME) ./vaultstore
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeUnverified$$' -fuzztime $(FUZZTIME) ./ciaccess

## faults: the whole fault suite, with the runs too long for test: the
## daemon's process killed with SIGKILL 50 times, each while it leads (about 6 min) beside the
## failover of a Raft Vault cluster, a sealed Vault and the rest; and five
## years of automated rotations with rollbacks mid-overlap (about 4 min). The
## logs are bin/faults.log and bin/faults-rotation.log.
faults: devvault
	CREDKEEPER_REQUIRE_VAULT=1 $(GO) test -tags faults -count=1 -v -run '^TestFault' ./cmd/credkeeper 2>&1 | tee bin/faults.log | awk -f scripts/test-summary.awk
	CREDKEEPER_REQUIRE_VAULT=1 $(GO) test -tags faults -race -count=1 -v -run '^TestFiveYearsOfAutomatedRotationsWithRollbacks$$' ./daemon 2>&1 | tee bin/faults-rotation.log | awk -f scripts/test-summary.awk

## bench: benchmarks, with allocations.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin
