// Package oidcprovider runs node's oidc-provider (the npm package, at the
// version tools/oidcprovider/package-lock.json pins) on loopback for
// tests: a second real OAuth2 server, besides the emulator, that
// authenticates private_key_jwt clients itself.
//
// Start launches tools/oidcprovider/server.js with the clients given and
// stops it when the test ends. Without node (MinNode or later, said with
// the version found) or the installed package a test is skipped, unless
// CREDKEEPER_REQUIRE_OIDC_PROVIDER=1 (as make test sets it), which makes
// it fail instead.
//
// It holds no product logic and only tests import it.
package oidcprovider
