package sqlstore

// SetSegmentsPerQuery changes how many segments List fetches at a time,
// so that tests cross batch boundaries; it returns the restore func.
func SetSegmentsPerQuery(n int) (restore func()) {
	old := segmentsPerQuery
	segmentsPerQuery = n
	return func() { segmentsPerQuery = old }
}
