package engine

// LinkerCount is how many Hosts have linkers cached on e (tests only).
func LinkerCount(e *Engine) int {
	e.linkMu.Lock()
	defer e.linkMu.Unlock()
	return len(e.linkers)
}
