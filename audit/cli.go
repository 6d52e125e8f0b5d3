package audit

// VerifyPaths is what `audit verify [--key FILE] LOG...` checks: the files
// that follow each other, oldest first, under the key in keyFile when one is
// named ([LoadKey] refuses a key file others may read). The error is for a
// key or a file that cannot be read; a broken chain is in the report.
func VerifyPaths(paths []string, keyFile string) (Report, error) {
	var o VerifyOptions
	if keyFile != "" {
		key, err := LoadKey(keyFile)
		if err != nil {
			return Report{}, err
		}
		o.Key = key
	}
	return VerifyFiles(paths, o)
}
