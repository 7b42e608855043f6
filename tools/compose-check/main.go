// Command compose-check loads a Compose file with compose-go, the reference implementation of the
// current Compose specification that `docker compose` itself uses: the file is validated against
// the specification's schema, interpolated, normalized and checked for consistency (every network,
// volume, secret and dependency a service names exists). Older readers such as docker-compose 1.x
// and podman-compose 1.0 reject parts of the current specification (env_file entries with `path`
// and `required`), so they cannot check this project's file.
//
// Usage:
//
//	compose-check [-f docker-compose.temporal.yml] [--json]
//
// Variables are interpolated from the environment and a `.env` next to the file, as `docker
// compose` does; env_file contents are not read (they live on the VM). Every profile is enabled,
// so opt-in services are checked too. With --json, the resolved project (services with their
// environment, entrypoints, commands and mounts) is printed as JSON for other tools to run the
// services by the file's own values. Exit status 1 and one message on stderr when the file is
// not valid.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	file := flag.String("f", "docker-compose.temporal.yml", "the Compose file")
	asJSON := flag.Bool("json", false, "print the resolved project as JSON")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: compose-check [-f file] [--json]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*file, *asJSON); err != nil {
		fmt.Fprintf(os.Stderr, "compose-check: %s: %v\n", *file, err)
		os.Exit(1)
	}
}

func run(file string, asJSON bool) error {
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	options, err := cli.NewProjectOptions(
		[]string{abs},
		cli.WithWorkingDirectory(filepath.Dir(abs)),
		cli.WithOsEnv,
		cli.WithDotEnv,
		cli.WithProfiles([]string{"*"}),
		cli.WithResolvedPaths(true),
		cli.WithoutEnvironmentResolution,
	)
	if err != nil {
		return err
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		return err
	}
	if asJSON {
		out, err := project.MarshalJSON()
		if err != nil {
			return err
		}
		_, err = fmt.Println(string(out))
		return err
	}
	names := project.ServiceNames()
	sort.Strings(names)
	fmt.Printf("%s: valid (%d services: %s)\n", file, len(names), strings.Join(names, ", "))
	return nil
}
