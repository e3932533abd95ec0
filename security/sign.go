package security

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"filippo.io/edwards25519"
)

// Signatures: Ed25519 over a digest that covers both the component and its
// manifest, so that swapping either breaks the signature:
//
//	message = "airssys-wasm signature v1\n" || SHA-256(component) || SHA-256(manifest)
//
// Keys are written as "ed25519:<base64>" (public, 32 bytes) and
// "ed25519-private:<base64 seed>" (private, 32-byte seed). A signature file
// (<component>.sig) holds two lines: "key ed25519:<base64>" and
// "signature <base64>".

// ErrSignature is matched by every signature failure.
var ErrSignature = errors.New("security: signature")

// PublicKey is an Ed25519 public key.
type PublicKey struct{ k ed25519.PublicKey }

// PrivateKey is an Ed25519 private key.
type PrivateKey struct{ k ed25519.PrivateKey }

// GenerateKey makes a new key pair.
func GenerateKey() (PublicKey, PrivateKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return PublicKey{}, PrivateKey{}, err
	}
	return PublicKey{pub}, PrivateKey{priv}, nil
}

func (k PublicKey) String() string { return "ed25519:" + base64.StdEncoding.EncodeToString(k.k) }

// Equal reports whether two keys are the same.
func (k PublicKey) Equal(o PublicKey) bool { return bytes.Equal(k.k, o.k) }

// Public returns the public half.
func (k PrivateKey) Public() PublicKey { return PublicKey{k.k.Public().(ed25519.PublicKey)} }

func (k PrivateKey) String() string {
	return "ed25519-private:" + base64.StdEncoding.EncodeToString(k.k.Seed())
}

// ParsePublicKey reads "ed25519:<base64>".
func ParsePublicKey(s string) (PublicKey, error) {
	b64, ok := strings.CutPrefix(strings.TrimSpace(s), "ed25519:")
	if !ok {
		return PublicKey{}, fmt.Errorf("%w: public key must start with ed25519:", ErrSignature)
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return PublicKey{}, fmt.Errorf("%w: malformed public key (want ed25519: and 32 bytes in base64)", ErrSignature)
	}
	if err := checkKey(b); err != nil {
		return PublicKey{}, err
	}
	return PublicKey{ed25519.PublicKey(b)}, nil
}

// checkKey refuses what is not a usable Ed25519 public key: a string that
// is not a point of the curve, and the points of small order (the identity
// and the seven others, in any encoding, canonical or not). With a
// small-order key A, [k]A lies in a group of at most 8 points, so one
// signature (R = [s]B and s, for any s, with the identity) verifies for
// any content: such a key proves nothing about who signed.
func checkKey(b []byte) error {
	if len(b) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: malformed public key (%d bytes, want 32)", ErrSignature, len(b))
	}
	p, err := new(edwards25519.Point).SetBytes(b)
	if err != nil {
		return fmt.Errorf("%w: public key %s is not a point of the Ed25519 curve", ErrSignature,
			base64.StdEncoding.EncodeToString(b))
	}
	if p.MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return fmt.Errorf("%w: public key %s has small order: a signature by it would verify for any content; "+
			"refusing it (generate a real key with airssys-wasm keygen)", ErrSignature, base64.StdEncoding.EncodeToString(b))
	}
	return nil
}

// ParsePrivateKey reads "ed25519-private:<base64 seed>".
func ParsePrivateKey(s string) (PrivateKey, error) {
	b64, ok := strings.CutPrefix(strings.TrimSpace(s), "ed25519-private:")
	if !ok {
		return PrivateKey{}, fmt.Errorf("%w: private key must start with ed25519-private:", ErrSignature)
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(b) != ed25519.SeedSize {
		return PrivateKey{}, fmt.Errorf("%w: malformed private key", ErrSignature)
	}
	return PrivateKey{ed25519.NewKeyFromSeed(b)}, nil
}

func signedMessage(component, manifest []byte) []byte {
	c, m := sha256.Sum256(component), sha256.Sum256(manifest)
	msg := make([]byte, 0, 26+64)
	msg = append(msg, "airssys-wasm signature v1\n"...)
	msg = append(msg, c[:]...)
	return append(msg, m[:]...)
}

// Signature is a signature file's content.
type Signature struct {
	Key PublicKey
	Sig []byte
}

// Sign signs a component together with its manifest.
func Sign(priv PrivateKey, component, manifest []byte) Signature {
	return Signature{Key: priv.Public(), Sig: ed25519.Sign(priv.k, signedMessage(component, manifest))}
}

// Marshal writes the signature file format.
func (s Signature) Marshal() []byte {
	return []byte("key " + s.Key.String() + "\nsignature " + base64.StdEncoding.EncodeToString(s.Sig) + "\n")
}

// ParseSignature reads a signature file.
func ParseSignature(data []byte) (Signature, error) {
	var s Signature
	var haveKey, haveSig bool
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, _ := strings.Cut(line, " ")
		switch k {
		case "key":
			pk, err := ParsePublicKey(v)
			if err != nil {
				return s, err
			}
			s.Key, haveKey = pk, true
		case "signature":
			b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
			if err != nil || len(b) != ed25519.SignatureSize {
				return s, fmt.Errorf("%w: malformed signature", ErrSignature)
			}
			s.Sig, haveSig = b, true
		default:
			return s, fmt.Errorf("%w: unknown line %q in signature file", ErrSignature, k)
		}
	}
	if !haveKey || !haveSig {
		return s, fmt.Errorf("%w: signature file needs a key and a signature line", ErrSignature)
	}
	return s, nil
}

// Verify checks the signature over component and manifest, returning the
// signing key.
func (s Signature) Verify(component, manifest []byte) (PublicKey, error) {
	// A Signature built in Go has not been through ParsePublicKey: check
	// the key here too (and never let ed25519.Verify panic on its length).
	if err := checkKey(s.Key.k); err != nil {
		return PublicKey{}, err
	}
	if !ed25519.Verify(s.Key.k, signedMessage(component, manifest), s.Sig) {
		return PublicKey{}, fmt.Errorf("%w: does not match the component and manifest (tampered, or signed by another key)",
			ErrSignature)
	}
	return s.Key, nil
}

// SignatureFile is where a component's signature lives: beside it, ".sig".
func SignatureFile(componentPath string) string { return componentPath + ".sig" }

// ReadSignature loads the signature beside a component; (nil, nil) when there
// is none. The signature file must be a regular file of at most
// MaxSignatureFile bytes (see ReadSmallFile).
func ReadSignature(componentPath string) (*Signature, error) {
	data, err := ReadSmallFile(SignatureFile(componentPath), "signature", MaxSignatureFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s, err := ParseSignature(data)
	if err != nil {
		return nil, err
	}
	return &s, nil
}
