// Package plan is credkeeper's Terraform-style workflow: MakePlan compares
// the configuration file with what Vault holds (credentials' metadata, KV
// settings, the managed ACL policies) and returns the changes as data;
// RenderPlan shows them (+ create, ~ update, - destroy); SavePlan and
// LoadPlan keep them in a file; Apply makes exactly those changes, refusing
// when anything they touch moved since, or when a policy's text is not what
// the configuration generates.
//
// It reads no secret (a staged pair is known by its metadata) and writes
// metadata and policies only: secrets enter Vault through rotation's
// SetSecret.
package plan
