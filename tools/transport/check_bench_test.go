package transport

import "testing"

// BenchmarkCheckMessage is the inbound check of one tools/call line as a
// go-sdk client of the 2026-07-28 protocol sends it.
//
//	go test -run '^$' -bench CheckMessage -benchmem ./tools/transport
func BenchmarkCheckMessage(b *testing.B) {
	line := []byte(`{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"_meta":{"io.modelcontextprotocol/clientCapabilities":{"elicitation":{"form":{}},"roots":{"listChanged":true}},"io.modelcontextprotocol/clientInfo":{"name":"bench","version":"1"},"io.modelcontextprotocol/protocolVersion":"2026-07-28"},"arguments":{"vm_id":"vm-76"},"name":"get_vm_details"}}` + "\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := checkMessage(line); err != nil {
			b.Fatal(err)
		}
	}
}
