package mlflow

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// databricksCreds are a Databricks workspace URL and the credentials for it.
type databricksCreds struct {
	host               string
	token              string
	username, password string
}

// databricksCreds resolves a registry URI of the form databricks,
// databricks://<profile>, databricks-uc or databricks-uc://<profile> the way
// MLflow's get_databricks_host_creds does through the Databricks CLI
// configuration (mlflow/utils/databricks_utils.py):
//
//   - with a profile, the [<profile>] section of the configuration file
//     (host, and token or username and password); keys of [DEFAULT] apply to
//     every section, as in Python's configparser;
//   - without one, DATABRICKS_HOST with MLFLOW_TRACKING_TOKEN /
//     DATABRICKS_TOKEN (or MLFLOW_TRACKING_USERNAME and _PASSWORD); if
//     DATABRICKS_HOST is unset, the [DEFAULT] profile of the file, host and
//     credentials together (a token from the environment is never sent to a
//     host read from a file).
//
// databricks://<scope>:<prefix> (credentials in Databricks secrets, readable
// only inside a Databricks notebook) and OAuth profiles are not supported.
func (c Config) databricksCreds(uri, envName string) (databricksCreds, error) {
	scheme, profile, _ := strings.Cut(uri, "://")
	scheme = strings.ToLower(scheme)
	profile = strings.TrimRight(profile, "/")
	if strings.ContainsAny(profile, ":@/") {
		return databricksCreds{}, fmt.Errorf("%s %s://<scope>:<prefix> (credentials in Databricks secrets) is not supported; use a profile of the Databricks CLI configuration or DATABRICKS_HOST and DATABRICKS_TOKEN", envName, scheme)
	}
	file := c.databricksConfigFile()
	if profile == "" {
		if h := strings.TrimSpace(c.DatabricksHost); h != "" {
			return databricksCreds{host: h, token: c.Token, username: c.Username, password: c.Password}, nil
		}
		p, err := readDatabricksProfile(file, "DEFAULT")
		if err != nil || p["host"] == "" {
			why := "has no [DEFAULT] host"
			switch {
			case errors.Is(err, fs.ErrNotExist):
				why = "does not exist"
			case err != nil:
				why = err.Error()
			}
			return databricksCreds{}, fmt.Errorf("%s is %s but DATABRICKS_HOST is not set and the Databricks configuration %s %s", envName, scheme, file, why)
		}
		return profileCreds(p, "DEFAULT", file)
	}
	p, err := readDatabricksProfile(file, profile)
	if err != nil {
		return databricksCreds{}, fmt.Errorf("%s is %s://%s: Databricks configuration %s: %w", envName, scheme, profile, file, err)
	}
	if p == nil {
		return databricksCreds{}, fmt.Errorf("%s is %s://%s but the Databricks configuration %s has no profile [%s]", envName, scheme, profile, file, profile)
	}
	return profileCreds(p, profile, file)
}

func profileCreds(p map[string]string, profile, file string) (databricksCreds, error) {
	cr := databricksCreds{host: p["host"], token: p["token"], username: p["username"], password: p["password"]}
	switch {
	case cr.host == "":
		return cr, fmt.Errorf("Databricks profile [%s] in %s has no host", profile, file)
	case cr.token == "" && cr.username == "" && cr.password == "":
		return cr, fmt.Errorf("Databricks profile [%s] in %s has no token (nor username and password); OAuth and other auth types are not supported", profile, file)
	}
	return cr, nil
}

// databricksConfigFile is the Databricks CLI configuration file.
func (c Config) databricksConfigFile() string {
	if c.DatabricksConfigFile != "" {
		return c.DatabricksConfigFile
	}
	if f := os.Getenv("DATABRICKS_CONFIG_FILE"); f != "" {
		return f
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".databrickscfg"
	}
	return filepath.Join(home, ".databrickscfg")
}

// maxDatabricksConfig bounds the configuration file read.
const maxDatabricksConfig = 1 << 20

// readDatabricksProfile returns the keys (lower case) of one section of an
// INI file, with the keys of [DEFAULT] as fallbacks; nil if the section does
// not exist. Errors never quote the file's content (it holds tokens).
func readDatabricksProfile(file, profile string) (map[string]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxDatabricksConfig+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxDatabricksConfig {
		return nil, fmt.Errorf("larger than %d bytes", maxDatabricksConfig)
	}
	sections := map[string]map[string]string{}
	var cur map[string]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxDatabricksConfig)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("line %d: malformed section header", n)
			}
			name := strings.TrimSpace(line[1 : len(line)-1])
			if sections[name] == nil {
				sections[name] = map[string]string{}
			}
			cur = sections[name]
		default:
			i := strings.IndexAny(line, "=:")
			if i <= 0 {
				return nil, fmt.Errorf("line %d: not key = value", n)
			}
			if cur == nil {
				return nil, fmt.Errorf("line %d: a key before any [section]", n)
			}
			cur[strings.ToLower(strings.TrimSpace(line[:i]))] = strings.TrimSpace(line[i+1:])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	sec, ok := sections[profile]
	if !ok {
		return nil, nil
	}
	out := map[string]string{}
	for k, v := range sections["DEFAULT"] {
		out[k] = v
	}
	for k, v := range sec {
		out[k] = v
	}
	return out, nil
}
