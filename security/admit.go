package security

import (
	"fmt"
)

// Admission is the decision for one component: verified signer (if any),
// the trust level and the grants. It is made before anything is compiled.
type Admission struct {
	Manifest *Manifest
	Signer   *PublicKey
	Grants   *Grants
}

// Admit verifies the signature (if sig is not nil) over the component and
// manifest bytes, then evaluates the manifest against the policy. Nothing of
// the component is compiled or run before this returns without error.
func Admit(p *Policy, component, manifestBytes []byte, manifestName string, sig *Signature) (*Admission, error) {
	m, err := ParseManifest(manifestName, manifestBytes)
	if err != nil {
		return nil, err
	}
	var signer *PublicKey
	if sig != nil {
		k, err := sig.Verify(component, manifestBytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.Name, err)
		}
		signer = &k
	}
	g, err := p.Evaluate(m, signer)
	if err != nil {
		return nil, err
	}
	return &Admission{Manifest: m, Signer: signer, Grants: g}, nil
}
