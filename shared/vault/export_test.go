package vault

// SetMaxUpdaterRows lowers the rows one Account Updater run applies, so a
// test shows the cut at a small size; it returns the restore.
func SetMaxUpdaterRows(n int) func() {
	old := maxUpdaterRows
	maxUpdaterRows = n
	return func() { maxUpdaterRows = old }
}
