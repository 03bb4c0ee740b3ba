package vaultstore

import (
	"context"
	"errors"
	"slices"
)

// ReadPolicy returns the text of a Vault ACL policy, or ErrNotFound.
func (s *Store) ReadPolicy(ctx context.Context, name string) (string, error) {
	path := "sys/policies/acl/" + name
	text, err := s.client.Sys().GetPolicyWithContext(ctx, name)
	if err != nil {
		return "", wrapErr("read policy", path, s.Address(), err)
	}
	if text == "" {
		return "", &Error{Op: "read policy", Path: path, Kind: ErrNotFound}
	}
	return text, nil
}

// WritePolicy creates or replaces a Vault ACL policy.
func (s *Store) WritePolicy(ctx context.Context, name, text string) error {
	if name == "" {
		return errors.New("a policy needs a name")
	}
	err := s.client.Sys().PutPolicyWithContext(ctx, name, text)
	return wrapErr("write policy", "sys/policies/acl/"+name, s.Address(), err)
}

// ListPolicies lists the names of Vault's ACL policies, sorted.
func (s *Store) ListPolicies(ctx context.Context) ([]string, error) {
	names, err := s.client.Sys().ListPoliciesWithContext(ctx)
	if err != nil {
		return nil, wrapErr("list policies", "sys/policies/acl", s.Address(), err)
	}
	slices.Sort(names)
	return names, nil
}

// DeletePolicy removes a Vault ACL policy; one already gone is not an error.
func (s *Store) DeletePolicy(ctx context.Context, name string) error {
	if name == "" {
		return errors.New("a policy needs a name")
	}
	err := s.client.Sys().DeletePolicyWithContext(ctx, name)
	return wrapErr("delete policy", "sys/policies/acl/"+name, s.Address(), err)
}
