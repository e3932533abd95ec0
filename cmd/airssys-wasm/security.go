package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/security"
)

// exitRefused: a signature or policy refused the component.
const exitRefused = 1

// admit verifies the component's signature (FILE.sig, if present) and
// evaluates its manifest against the policy, before anything is compiled.
// The manifest, policy and signature are read as regular files of bounded
// size (security.ReadSmallFile): a FIFO or a device is refused at once.
func admit(file string, wasm []byte, manifestPath, policyPath string, stderr io.Writer) (*security.Admission, int) {
	man, err := security.ReadSmallFile(manifestPath, "manifest", security.MaxManifestFile)
	if err != nil {
		return nil, fail(stderr, exitUsage, "%v", err)
	}
	policy := &security.Policy{}
	if policyPath != "" {
		if policy, err = security.LoadPolicy(policyPath); err != nil {
			return nil, fail(stderr, exitUsage, "%v", err)
		}
	}
	sig, err := security.ReadSignature(file)
	if err != nil {
		return nil, fail(stderr, exitRefused, "%s: %v", security.SignatureFile(file), err)
	}
	adm, err := security.Admit(policy, wasm, man, manifestPath, sig)
	switch {
	case err == nil:
		return adm, exitOK
	case errors.Is(err, security.ErrManifest):
		return nil, fail(stderr, exitUsage, "%v", err)
	default:
		return nil, fail(stderr, exitRefused, "refused: %v", err)
	}
}

// applyGrants narrows the instance configuration to the grants.
func applyGrants(cfg *engine.InstanceConfig, g *security.Grants, audit *security.Audit, stderr io.Writer) {
	r := g.Resources
	if r.MemoryBytes > 0 && (cfg.MemoryLimit == 0 || r.MemoryBytes < cfg.MemoryLimit) {
		cfg.MemoryLimit = r.MemoryBytes
	}
	if r.FuelPerMessage > 0 && (cfg.Fuel == 0 || r.FuelPerMessage < cfg.Fuel) {
		cfg.Fuel = r.FuelPerMessage
	}
	if r.TimeoutPerMsg > 0 && (cfg.Timeout == 0 || r.TimeoutPerMsg < cfg.Timeout) {
		cfg.Timeout = r.TimeoutPerMsg
	}
	for k := range cfg.WASI.Env {
		if !g.AllowEnv(k) {
			delete(cfg.WASI.Env, k)
			audit.Denied(g.Component, "env", k, "not granted: left out")
			fmt.Fprintf(stderr, "airssys-wasm: --env %s is not granted to %s: left out\n", k, g.Component)
		}
	}
	cfg.WASI.Dirs = nil
	for _, f := range g.Caps.Filesystem {
		cfg.WASI.Dirs = append(cfg.WASI.Dirs, engine.Dir{HostPath: f.Host, GuestPath: f.Guest, ReadOnly: !f.ReadWrite})
	}
}

func cmdKeygen(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		return fail(stderr, exitUsage, "keygen: want NAME")
	}
	pub, priv, err := security.GenerateKey()
	if err != nil {
		return fail(stderr, exitUsage, "%v", err)
	}
	name := args[0]
	if _, err := os.Stat(name + ".key"); err == nil {
		return fail(stderr, exitUsage, "%s.key exists; not overwriting a private key", name)
	}
	if err := os.WriteFile(name+".key", []byte(priv.String()+"\n"), 0o600); err != nil {
		return fail(stderr, exitUsage, "%v", err)
	}
	if err := os.WriteFile(name+".pub", []byte(pub.String()+"\n"), 0o644); err != nil {
		return fail(stderr, exitUsage, "%v", err)
	}
	fmt.Fprintf(stdout, "wrote %s.key and %s.pub\n%s\n", name, name, pub)
	return exitOK
}

func cmdSign(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyPath := fs.String("key", "", "private key file (from keygen)")
	manifestPath := fs.String("manifest", "", "the component's Component.toml")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() != 1 || *keyPath == "" || *manifestPath == "" {
		return fail(stderr, exitUsage, "sign: want --key KEY --manifest Component.toml FILE")
	}
	keyText, err := security.ReadSmallFile(*keyPath, "key", security.MaxSignatureFile)
	if err != nil {
		return fail(stderr, exitUsage, "%v", err)
	}
	priv, err := security.ParsePrivateKey(string(keyText))
	if err != nil {
		return fail(stderr, exitUsage, "%s: %v", *keyPath, err)
	}
	wasm, err1 := engine.ReadWasmFile(fs.Arg(0), 0)
	man, err2 := security.ReadSmallFile(*manifestPath, "manifest", security.MaxManifestFile)
	if err := errors.Join(err1, err2); err != nil {
		return fail(stderr, exitUsage, "%v", err)
	}
	if _, err := security.ParseManifest(*manifestPath, man); err != nil {
		return fail(stderr, exitUsage, "%v", err)
	}
	sig := security.Sign(priv, wasm, man)
	out := security.SignatureFile(fs.Arg(0))
	if err := os.WriteFile(out, sig.Marshal(), 0o644); err != nil {
		return fail(stderr, exitUsage, "%v", err)
	}
	fmt.Fprintf(stdout, "wrote %s (key %s)\n", out, sig.Key)
	return exitOK
}

func cmdVerify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	manifestPath := fs.String("manifest", "", "the component's Component.toml")
	policyPath := fs.String("policy", "", "evaluate against this policy too")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() != 1 || *manifestPath == "" {
		return fail(stderr, exitUsage, "verify: want --manifest Component.toml FILE")
	}
	file := fs.Arg(0)
	wasm, err := engine.ReadWasmFile(file, 0)
	if err != nil {
		return fail(stderr, exitUsage, "%v", err)
	}
	sig, err := security.ReadSignature(file)
	if err != nil {
		return fail(stderr, exitRefused, "%v", err)
	}
	if sig == nil {
		return fail(stderr, exitRefused, "%s is not signed (no %s)", file, security.SignatureFile(file))
	}
	man, err := security.ReadSmallFile(*manifestPath, "manifest", security.MaxManifestFile)
	if err != nil {
		return fail(stderr, exitUsage, "%v", err)
	}
	key, err := sig.Verify(wasm, man)
	if err != nil {
		return fail(stderr, exitRefused, "%v", err)
	}
	fmt.Fprintf(stdout, "signature ok: %s\n", key)
	if *policyPath != "" {
		adm, code := admit(file, wasm, *manifestPath, *policyPath, stderr)
		if adm == nil {
			return code
		}
		fmt.Fprintf(stdout, "policy: admitted as %s\n", adm.Grants.Trust)
	}
	return exitOK
}
