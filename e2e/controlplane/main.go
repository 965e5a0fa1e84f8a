// Command kscp is the local Kubernetes control plane of kubescribe's tests and demo:
// one binary that runs an embedded etcd and the real kube-apiserver (`kscp serve`),
// and the matching kubectl (`kscp kubectl ...`, or invoked through a symlink named kubectl).
// It is built from the Go module proxy by e2e/controlplane/build.sh; Go is a build tool here only.
package main

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/component-base/cli"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	if filepath.Base(os.Args[0]) == "kubectl" {
		os.Exit(runKubectl(os.Args[1:]))
	}
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kscp serve --etcd-dir DIR --etcd-client-port N --etcd-peer-port N -- <kube-apiserver flags>\n       kscp kubectl <args>")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "kubectl":
		os.Exit(runKubectl(os.Args[2:]))
	case "serve":
		os.Exit(serve(os.Args[2:]))
	default:
		fmt.Fprintf(os.Stderr, "kscp: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
}

func runKubectl(args []string) int {
	os.Args = append([]string{"kubectl"}, args...)
	command := kubectlcmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err)
		return 1
	}
	return 0
}

func serve(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	etcdDir := fs.String("etcd-dir", "", "etcd data directory")
	clientPort := fs.Int("etcd-client-port", 0, "etcd client port on 127.0.0.1")
	peerPort := fs.Int("etcd-peer-port", 0, "etcd peer port on 127.0.0.1")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *etcdDir == "" || *clientPort == 0 || *peerPort == 0 {
		fmt.Fprintln(os.Stderr, "kscp serve: --etcd-dir, --etcd-client-port and --etcd-peer-port are required")
		return 2
	}

	cfg := embed.NewConfig()
	cfg.Name = "kscp"
	cfg.Dir = *etcdDir
	cfg.LogLevel = "error"
	clientURL := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", *clientPort)}
	peerURL := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", *peerPort)}
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	etcd, err := embed.StartEtcd(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kscp: etcd failed to start: %v\n", err)
		return 1
	}
	defer etcd.Close()
	select {
	case <-etcd.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		fmt.Fprintln(os.Stderr, "kscp: etcd not ready after 60s")
		return 1
	}

	// The apiserver installs its own SIGTERM handler; we only need etcd to stop after it.
	go func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
		<-ch
		go func() { time.Sleep(10 * time.Second); os.Exit(0) }()
	}()

	command := apiserver.NewAPIServerCommand()
	command.SetArgs(append(fs.Args(), "--etcd-servers="+clientURL.String()))
	return cli.Run(command)
}
