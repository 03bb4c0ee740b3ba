// Package plan is credkeeper's Terraform-style workflow: MakePlan compares
// the configuration file with what Vault holds (credentials' metadata, KV
// settings, the managed ACL policies, the ci_access blocks' roles under
// the CI auth mounts and their policies) and returns the changes as data;
// RenderPlan shows them (+ create, ~ update, - destroy); SavePlan and
// LoadPlan keep them in a file; Apply makes exactly those changes, refusing
// when anything they touch moved since, or when a policy's text is not what
// the configuration generates.
//
// It reads no secret (a staged pair is known by its metadata) and writes
// metadata, policies and CI auth roles only (it deletes a role or policy
// only if credkeeper made it for this mount and prefix, and only with
// --prune; the auth mounts themselves are an administrator's, and plan
// notes one that is missing or trusts another issuer): secrets enter Vault
// through rotation's SetSecret.
package plan
