package tenantdb

// HeldSlots is how many connection slots pm holds: open connections and
// those closed moments ago.
func HeldSlots(pm *PoolManager) int {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	return pm.held
}
