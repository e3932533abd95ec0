package security

// Small-order Ed25519 keys (issue #7, item 14).

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"

	"filippo.io/edwards25519"
)

// smallOrderEncodings lists every 32-byte string that decodes to a point of
// small order: the eight points of the torsion subgroup, with the
// non-canonical encodings (a field element not reduced, a negative zero x).
// The torsion points are found from scratch: [L]P of a point P of full
// order is a point of order 8, and its multiples are the subgroup.
func smallOrderEncodings(t *testing.T) [][]byte {
	t.Helper()
	minusOne := edwards25519.NewScalar().Subtract(edwards25519.NewScalar(),
		must(edwards25519.NewScalar().SetCanonicalBytes(append([]byte{1}, make([]byte, 31)...))))
	var torsion *edwards25519.Point
	for i := 0; torsion == nil; i++ {
		h := sha256.Sum256([]byte("airssys torsion " + strconv.Itoa(i)))
		p, err := new(edwards25519.Point).SetBytes(h[:])
		if err != nil {
			continue
		}
		q := new(edwards25519.Point).ScalarMult(minusOne, p) // [L-1]P
		q.Add(q, p)                                          // [L]P, the torsion part of P
		four := new(edwards25519.Point).Double(q)
		four.Double(four)
		if four.Equal(edwards25519.NewIdentityPoint()) == 0 { // [4]q is not the identity: order 8
			torsion = q
		}
	}
	seen := map[string]bool{}
	var out [][]byte
	add := func(b []byte) {
		if _, err := new(edwards25519.Point).SetBytes(b); err == nil && !seen[string(b)] {
			seen[string(b)] = true
			out = append(out, b)
		}
	}
	pt := edwards25519.NewIdentityPoint()
	for k := 0; k < 8; k++ {
		b := pt.Bytes()
		add(b)
		neg := bytes.Clone(b)
		neg[31] ^= 0x80 // the other sign of x (negative zero when x = 0)
		add(neg)
		// y < 19 has a second, unreduced encoding y + p (p = 2^255 - 19).
		y := bytes.Clone(b)
		y[31] &= 0x7f
		if y[0] < 19 && bytes.Equal(y[1:], make([]byte, 31)) {
			for _, sign := range []byte{0, 0x80} {
				np := append([]byte{0xed + y[0]}, bytes.Repeat([]byte{0xff}, 30)...)
				add(append(np, 0x7f|sign))
			}
		}
		pt = new(edwards25519.Point).Add(pt, torsion)
	}
	return out
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestSmallOrderKeysAreRefused(t *testing.T) {
	encs := smallOrderEncodings(t)
	if len(encs) != 14 {
		t.Fatalf("%d small-order encodings found, want 14 (8 points, 6 non-canonical forms)", len(encs))
	}
	for _, b := range encs {
		key := "ed25519:" + base64.StdEncoding.EncodeToString(b)
		_, err := ParsePublicKey(key)
		if !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "small order") {
			t.Errorf("%x: ParsePublicKey = %v, want a small-order refusal", b, err)
		}
	}
	// Ordinary keys still parse.
	for i := 0; i < 50; i++ {
		pub, _, err := GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		if k, err := ParsePublicKey(pub.String()); err != nil || !k.Equal(pub) {
			t.Fatalf("generated key %s: %v", pub, err)
		}
	}
	// A 32-byte string that is not a point at all.
	notPoint := "ed25519:" + base64.StdEncoding.EncodeToString(append([]byte{2}, make([]byte, 31)...))
	if _, err := ParsePublicKey(notPoint); !errors.Is(err, ErrSignature) {
		t.Errorf("a key that is not a curve point: %v", err)
	}
}

// With the identity as public key, R = [s]B is a valid signature of any
// message for any s: Verify accepts it unless the key is refused.
func TestForgedSignatureWithTheIdentityKeyIsRefused(t *testing.T) {
	identity := edwards25519.NewIdentityPoint().Bytes()
	s := must(edwards25519.NewScalar().SetUniformBytes(bytes.Repeat([]byte{7}, 64)))
	forged := append(new(edwards25519.Point).ScalarBaseMult(s).Bytes(), s.Bytes()...)
	comp, man := []byte("\x00asm anything at all"), []byte("[component]\nname = \"evil\"\n")

	// Without the check, Ed25519 itself accepts the forgery.
	if !ed25519.Verify(identity, signedMessage(comp, man), forged) {
		t.Fatal("the forgery does not verify under crypto/ed25519: the test no longer shows the attack")
	}
	file := "key ed25519:" + base64.StdEncoding.EncodeToString(identity) + "\nsignature " +
		base64.StdEncoding.EncodeToString(forged) + "\n"
	if _, err := ParseSignature([]byte(file)); !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "small order") {
		t.Fatalf("a signature file with the identity key parsed: %v", err)
	}
	// A Signature built in Go, past the parser, is refused by Verify too.
	if _, err := (Signature{Key: PublicKey{identity}, Sig: forged}).Verify(comp, man); !errors.Is(err, ErrSignature) {
		t.Fatalf("Verify accepted a forgery with the identity key: %v", err)
	}
	// The zero Signature is an error, not a panic.
	if _, err := (Signature{}).Verify(comp, man); !errors.Is(err, ErrSignature) {
		t.Fatalf("zero Signature: %v", err)
	}
	// A policy cannot list such a key as a publisher.
	_, err := ParsePolicy("policy.toml", []byte("[[publisher]]\nname = \"x\"\nkey = \"ed25519:"+
		base64.StdEncoding.EncodeToString(identity)+"\"\n"))
	if !errors.Is(err, ErrManifest) || !strings.Contains(err.Error(), "publisher[0].key") {
		t.Fatalf("policy with the identity key as publisher: %v", err)
	}
}
