package engine

// LinkerCount is how many Hosts have linkers cached on e (tests only).
func LinkerCount(e *Engine) int {
	e.linkMu.Lock()
	defer e.linkMu.Unlock()
	return len(e.linkers)
}

// WatchedCount is how many instances the epoch ticker polls (tests only).
func WatchedCount(e *Engine) int {
	e.watchMu.Lock()
	defer e.watchMu.Unlock()
	return len(e.watched)
}
