package vcentersim

import (
	"archive/zip"
	"bytes"
	"crypto/sha1" //nolint:gosec // OpenSSL's subject hash is defined on SHA-1; it names files, it protects nothing
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// caDownloadPath is where vCenter serves its trusted root CAs, without a
// session, so that a client can trust vCenter before it logs in. The zip
// holds each CA three times, named by its OpenSSL subject hash, in the
// layout of a real vCenter:
//
//	certs/lin/<hash>.0      PEM, for OpenSSL's hashed certificate directories
//	certs/mac/<hash>.0      PEM, for the macOS keychain
//	certs/win/<hash>.0.crt  PEM with the extension Windows opens
//
// A real vCenter also puts each CA's revocation list beside it (<hash>.r0,
// <hash>.r0.crl); the simulator's CA issues none, so there is none here.
const caDownloadPath = "/certs/download.zip"

// serveCADownload answers GET /certs/download.zip with the simulator's CA.
func (s *Server) serveCADownload(c *call) {
	b, err := caDownloadZip(s.caPEM)
	if err != nil {
		http.Error(c.w, "vcentersim: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := c.w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", `attachment; filename="download.zip"`)
	h.Set("Content-Length", fmt.Sprint(len(b)))
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(b)
}

// caDownloadZip builds the download.zip of the CA certificates in caPEM.
func caDownloadZip(caPEM []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	seen := map[string]int{}
	for rest := caPEM; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		hash, err := subjectHash(cert.RawSubject)
		if err != nil {
			return nil, err
		}
		// Two CAs with one subject hash get .0 and .1, as c_rehash names them.
		n := seen[hash]
		seen[hash]++
		one := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes})
		for _, name := range []string{
			fmt.Sprintf("certs/lin/%s.%d", hash, n),
			fmt.Sprintf("certs/mac/%s.%d", hash, n),
			fmt.Sprintf("certs/win/%s.%d.crt", hash, n),
		} {
			w, err := zw.Create(name)
			if err != nil {
				return nil, err
			}
			if _, err := w.Write(one); err != nil {
				return nil, err
			}
		}
	}
	if len(seen) == 0 {
		return nil, errors.New("no CA certificate to serve")
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// subjectHash is OpenSSL's X509_NAME_hash of a DER-encoded name (what
// `openssl x509 -subject_hash` prints and c_rehash names files by): the
// first four bytes, little-endian, of the SHA-1 of the name's canonical
// encoding, as eight hex digits.
func subjectHash(rawName []byte) (string, error) {
	canon, err := canonicalName(rawName)
	if err != nil {
		return "", err
	}
	sum := sha1.Sum(canon) //nolint:gosec // see the import
	return fmt.Sprintf("%08x", binary.LittleEndian.Uint32(sum[:4])), nil
}

// canonicalName is OpenSSL's canonical encoding of a name (x509_name_canon):
// each relative distinguished name as a DER SET, concatenated without the
// outer SEQUENCE; every string value of a text type becomes a UTF8String,
// lower-cased (ASCII letters only), with leading and trailing white space
// removed and inner runs of white space made one space.
func canonicalName(rawName []byte) ([]byte, error) {
	var rdns []asn1.RawValue
	rest, err := asn1.Unmarshal(rawName, &rdns)
	if err != nil {
		return nil, fmt.Errorf("name is not a DER SEQUENCE: %w", err)
	}
	if len(rest) > 0 {
		return nil, errors.New("name: trailing data after the SEQUENCE")
	}
	var out []byte
	for _, rdn := range rdns {
		if rdn.Class != asn1.ClassUniversal || rdn.Tag != asn1.TagSet {
			return nil, errors.New("name: a relative distinguished name is not a SET")
		}
		var entries [][]byte
		for rest := rdn.Bytes; len(rest) > 0; {
			var atv struct {
				Type  asn1.ObjectIdentifier
				Value asn1.RawValue
			}
			var err error
			if rest, err = asn1.Unmarshal(rest, &atv); err != nil {
				return nil, fmt.Errorf("name: attribute: %w", err)
			}
			value := atv.Value.FullBytes
			if text, ok := nameText(atv.Value); ok {
				if value, err = asn1.MarshalWithParams(canonicalText(text), "utf8"); err != nil {
					return nil, err
				}
			}
			oid, err := asn1.Marshal(atv.Type)
			if err != nil {
				return nil, err
			}
			entry, err := asn1.Marshal(asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: slices.Concat(oid, value)})
			if err != nil {
				return nil, err
			}
			entries = append(entries, entry)
		}
		// DER orders the members of a SET by their encodings.
		slices.SortFunc(entries, bytes.Compare)
		set, err := asn1.Marshal(asn1.RawValue{Tag: asn1.TagSet, IsCompound: true, Bytes: slices.Concat(entries...)})
		if err != nil {
			return nil, err
		}
		out = append(out, set...)
	}
	return out, nil
}

// nameText returns the text of a name attribute value of one of the string
// types OpenSSL canonicalises, decoded to a Go string.
func nameText(v asn1.RawValue) (string, bool) {
	if v.Class != asn1.ClassUniversal {
		return "", false
	}
	switch v.Tag {
	case asn1.TagUTF8String, asn1.TagPrintableString, asn1.TagIA5String, 26 /* VisibleString */ :
		if !utf8.Valid(v.Bytes) {
			return "", false
		}
		return string(v.Bytes), true
	case asn1.TagT61String: // read as Latin-1, as OpenSSL does
		r := make([]rune, len(v.Bytes))
		for i, b := range v.Bytes {
			r[i] = rune(b)
		}
		return string(r), true
	case asn1.TagBMPString:
		if len(v.Bytes)%2 != 0 {
			return "", false
		}
		u := make([]uint16, len(v.Bytes)/2)
		for i := range u {
			u[i] = binary.BigEndian.Uint16(v.Bytes[2*i:])
		}
		return string(utf16.Decode(u)), true
	case 28: // UniversalString, UTF-32BE
		if len(v.Bytes)%4 != 0 {
			return "", false
		}
		r := make([]rune, len(v.Bytes)/4)
		for i := range r {
			u := binary.BigEndian.Uint32(v.Bytes[4*i:])
			if u > unicode.MaxRune {
				return "", false
			}
			r[i] = rune(u)
		}
		return string(r), true
	}
	return "", false
}

// canonicalText applies OpenSSL's asn1_string_canon to s.
func canonicalText(s string) string {
	space := func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r' }
	var b strings.Builder
	pending := false
	for _, r := range strings.TrimFunc(s, space) {
		if space(r) {
			pending = true
			continue
		}
		if pending {
			b.WriteByte(' ')
			pending = false
		}
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
