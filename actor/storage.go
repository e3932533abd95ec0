package actor

import (
	"github.com/airsstack/airssys-wasm-go/storage"
	"github.com/airsstack/airssys-wasm-go/storage/keyvalue"
)

// storageSession is the actor's storage: whose data and what it may do.
// The owner is the component's identity from its grants (publisher key and
// manifest name), or Spec.Owner without a policy; nil means no storage.
func (s *System) storageSession(c *cell, spec Spec) *keyvalue.Session {
	var db storage.Backend
	if s.opts.Storage != nil {
		db = s.opts.Storage
	}
	if spec.Storage != nil {
		db = spec.Storage
	}
	if db == nil {
		return nil
	}
	var owner storage.Owner
	var grant keyvalue.Grant
	if g := spec.Grants; g != nil {
		sg := g.Storage()
		if len(sg.Buckets) == 0 {
			return nil
		}
		owner = storage.Owner{Publisher: g.Publisher, Name: g.Component}
		grant = keyvalue.Grant{Buckets: sg.Buckets, Read: sg.Read, Write: sg.Write, Delete: sg.Delete,
			Limits: storage.Limits{MaxBytes: sg.MaxBytes, MaxKeys: sg.MaxKeys, MaxValueBytes: sg.MaxValueBytes}}
	} else {
		if spec.Owner.Name == "" {
			return nil
		}
		owner, grant = spec.Owner, keyvalue.All(storage.Limits{})
	}
	sess := keyvalue.NewSession(db, owner, grant)
	sess.Counters = &c.kvCount
	a, id := s.opts.Audit, string(spec.ID)
	sess.Denied = func(op, bucket, why string) {
		c.denied.Add(1)
		if a != nil {
			a.Denied(id, "storage."+op, bucket, why)
		}
	}
	return sess
}
