// Command rawcall is the vCenter half of the per-call floor
// (bench_call_test.go): a plain net/http client that, for each line on
// stdin, sends the two requests get_vm_details sends for a VM it knows (the
// VM, and its guest identity, at once), decodes both answers, and writes
// one line to stdout; to the line "nop" it answers at once. Its CPU per
// line, less that of a "nop", is what those two requests cost a client
// that does nothing else. RAWCALL_URL, RAWCALL_TOKEN, RAWCALL_CA
// (a PEM file) and RAWCALL_VM say where and what.
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"log"
	"net/http"
	"os"
	"sync"
)

func main() {
	pem, err := os.ReadFile(os.Getenv("RAWCALL_CA"))
	if err != nil {
		log.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		log.Fatal("rawcall: no certificate in RAWCALL_CA")
	}
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: roots},
		MaxIdleConnsPerHost: 4,
	}}
	base := os.Getenv("RAWCALL_URL") + "/api/vcenter/vm/" + os.Getenv("RAWCALL_VM")
	token := os.Getenv("RAWCALL_TOKEN")
	get := func(url string) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("vmware-api-session-id", token)
		resp, err := client.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			log.Fatalf("rawcall: GET %s: %s", url, resp.Status)
		}
		var v map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			log.Fatal(err)
		}
	}
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		if in.Text() == "nop" { // the pipe and the wake-up alone
			out.WriteString("ok\n")
			out.Flush()
			continue
		}
		var wg sync.WaitGroup
		wg.Go(func() { get(base + "/guest/identity") })
		get(base)
		wg.Wait()
		out.WriteString("ok\n")
		out.Flush()
	}
}
