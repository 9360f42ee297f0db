package webhooks_test
import ("os";"testing")
func TestZZDump(t *testing.T){ os.WriteFile("/tmp/i14ev.json", event4KiB("evt_bench"), 0o644) }
