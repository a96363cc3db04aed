// Command validate checks deployment files offline, with the libraries that the real tools use:
//
//	validate manifests FILE   decodes every document of a rendered Helm chart strictly into the
//	                          Kubernetes API types of client-go. An unknown or misspelt field, a
//	                          wrong type or an unknown kind is an error, as with the API server's
//	                          strict field validation;
//	validate compose FILE     loads a compose file with compose-go, the loader of docker compose,
//	                          which checks it against the Compose Specification's JSON schema and
//	                          resolves it as `docker compose config` does, then prints the result.
//
// Neither needs a cluster or a container engine, and neither reaches the network.
package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/cli"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: validate manifests|compose FILE")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "manifests":
		err = validateManifests(os.Args[2])
	case "compose":
		err = validateCompose(os.Args[2])
	default:
		err = fmt.Errorf("unknown command %q (expected: manifests or compose)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "validate %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func validateManifests(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	decoder := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	count := 0
	for {
		document, err := reader.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if len(bytes.TrimSpace(stripComments(document))) == 0 {
			continue
		}
		_, kind, err := decoder.Decode(document, nil, nil)
		if err != nil {
			return fmt.Errorf("%s, document %d: %w", path, count+1, err)
		}
		count++
		fmt.Printf("%s/%s ok\n", kind.GroupVersion(), kind.Kind)
	}
	if count == 0 {
		return fmt.Errorf("%s: no manifests", path)
	}
	return nil
}

func validateCompose(path string) error {
	absolute, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	options, err := cli.NewProjectOptions([]string{absolute},
		cli.WithWorkingDirectory(filepath.Dir(absolute)),
		cli.WithName("levee"),
		cli.WithDotEnv)
	if err != nil {
		return err
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		return err
	}
	resolved, err := project.MarshalYAML()
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(resolved)
	return err
}

// stripComments drops comment lines, such as the "# Source: ..." line that helm template writes
// before each document, so that a document of comments alone is skipped.
func stripComments(document []byte) []byte {
	var code [][]byte
	for _, line := range bytes.Split(document, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			code = append(code, line)
		}
	}
	return bytes.Join(code, []byte("\n"))
}
