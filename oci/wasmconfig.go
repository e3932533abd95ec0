package oci

import (
	"bytes"
	"encoding/json"
	"errors"
	"time"

	"github.com/opencontainers/go-digest"
)

// wasmConfig is the application/vnd.wasm.config.v0+json document, with the
// field names of the spec (and of the oci-wasm crate that wkg and wasmCloud
// read it with).
type wasmConfig struct {
	Created      string         `json:"created"`
	Author       string         `json:"author,omitempty"`
	Architecture string         `json:"architecture"`
	OS           string         `json:"os"`
	LayerDigests []string       `json:"layerDigests"`
	Component    *componentInfo `json:"component,omitempty"`
}

type componentInfo struct {
	Exports []string `json:"exports"`
	Imports []string `json:"imports"`
}

// componentPreamble: magic, version 0x0d, layer 1 (a core module has version
// 1, layer 0).
var componentPreamble = []byte{0x00, 'a', 's', 'm', 0x0d, 0x00, 0x01, 0x00}

func isComponent(wasm []byte) bool { return bytes.HasPrefix(wasm, componentPreamble) }

// wasmConfigJSON builds the config of a wasm layer: "wasip2" with the
// component's top-level imports and exports for a component, "wasip1" for a
// core module.
func wasmConfigJSON(wasm []byte, layer digest.Digest, o Options) ([]byte, error) {
	created := o.Created
	if created.IsZero() {
		created = time.Now()
	}
	c := wasmConfig{
		Created:      created.UTC().Format(time.RFC3339Nano),
		Author:       o.Author,
		Architecture: "wasm",
		OS:           "wasip1",
		LayerDigests: []string{layer.String()},
	}
	if isComponent(wasm) {
		imports, exports, err := componentNames(wasm)
		if err != nil {
			// The names are metadata for indexes: a component whose sections
			// we do not follow still pushes, with empty lists.
			imports, exports = []string{}, []string{}
		}
		c.OS = "wasip2"
		c.Component = &componentInfo{Exports: exports, Imports: imports}
	}
	return json.Marshal(c)
}

// componentNames lists the names of a component's top-level imports and
// exports of interfaces (instances) and functions, in binary order: what the
// component's world imports and exports ("wasi:cli/stdout@0.2.0", "run").
// Types, nested components and modules are left out.
func componentNames(wasm []byte) (imports, exports []string, err error) {
	if !isComponent(wasm) {
		return nil, nil, errMalformed
	}
	imports, exports = []string{}, []string{}
	r := &reader{b: wasm[len(componentPreamble):]}
	for !r.done() {
		id := r.byte()
		size := r.u32()
		body := r.bytes(int(size))
		if r.err != nil {
			return nil, nil, r.err
		}
		s := &reader{b: body}
		switch id {
		case 10: // import section
			for n := s.u32(); n > 0 && s.err == nil; n-- {
				name := s.externName()
				kind := s.externDesc()
				if s.err == nil && (kind == 0x01 || kind == 0x05) {
					imports = append(imports, name)
				}
			}
		case 11: // export section
			for n := s.u32(); n > 0 && s.err == nil; n-- {
				name := s.externName()
				sort := s.byte()
				if sort == 0x00 {
					s.byte() // core sort
				}
				s.u32() // index
				if s.byte() == 0x01 {
					s.externDesc()
				}
				if s.err == nil && (sort == 0x01 || sort == 0x05) {
					exports = append(exports, name)
				}
			}
		default:
			continue
		}
		if s.err != nil {
			return nil, nil, s.err
		}
	}
	return imports, exports, nil
}

var errMalformed = errors.New("oci: malformed component")

// reader reads the component binary format; the first error sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) done() bool { return r.err != nil || len(r.b) == 0 }

func (r *reader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.err = errMalformed
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) u32() uint32 {
	var v uint32
	for shift := 0; shift < 35; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint32(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	r.err = errMalformed
	return 0
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		r.err = errMalformed
		return nil
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}

func (r *reader) name() string { return string(r.bytes(int(r.u32()))) }

// externName reads importname' / exportname': 0x00 or 0x01 and a name, or
// 0x02, a name and a vector of options (implements, version suffix), each a
// tag and a name.
func (r *reader) externName() string {
	switch r.byte() {
	case 0x00, 0x01:
		return r.name()
	case 0x02:
		n := r.name()
		for k := r.u32(); k > 0 && r.err == nil; k-- {
			r.byte()
			r.name()
		}
		return n
	}
	r.err = errMalformed
	return ""
}

// externDesc reads an externdesc and returns its kind byte.
func (r *reader) externDesc() byte {
	kind := r.byte()
	switch kind {
	case 0x00: // core module: 0x11 and a type index
		r.byte()
		r.u32()
	case 0x01, 0x04, 0x05: // func, component, instance: a type index
		r.u32()
	case 0x02: // value: 0x00 and an eq index, or 0x01 and a valtype (an s33): both one LEB128
		r.byte()
		r.u32()
	case 0x03: // type: eq index, or sub resource
		if r.byte() == 0x00 {
			r.u32()
		}
	default:
		r.err = errMalformed
	}
	return kind
}
