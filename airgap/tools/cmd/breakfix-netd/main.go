// breakfix-netd is the node network daemon of the offline node image (a DaemonSet, host
// network). It does what a simple routed CNI needs and nothing more:
//   - writes a CNI conflist for this node's podCIDR(s): ptp + host-local IPAM + portmap,
//     all standard containernetworking plugins already on the node;
//   - keeps a route to every other node's podCIDR via that node's InternalIP.
//
// It re-reads the node list on a short interval and rewrites files only when they change.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func main() {
	confDir := flag.String("cni-conf-dir", "/etc/cni/net.d", "where the CNI conflist is written")
	confName := flag.String("cni-conf-name", "10-breakfix.conflist", "conflist file name")
	interval := flag.Duration("interval", 10*time.Second, "how often the node list is re-read")
	mtu := flag.Int("mtu", 1500, "MTU of pod interfaces")
	flag.Parse()

	nodeName := os.Getenv("NODE_NAME")
	if nodeName == "" {
		log.Fatal("NODE_NAME is not set")
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		log.Fatalf("in-cluster config: %v", err)
	}
	cfg.Timeout = 10 * time.Second
	client := kubernetes.NewForConfigOrDie(cfg)

	for {
		if err := sync(client, nodeName, filepath.Join(*confDir, *confName), *mtu); err != nil {
			log.Printf("sync: %v", err)
		}
		time.Sleep(*interval)
	}
}

func sync(client kubernetes.Interface, self, confPath string, mtu int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	for i := range nodes.Items {
		n := &nodes.Items[i]
		cidrs := podCIDRs(n)
		if n.Name == self {
			if len(cidrs) == 0 {
				return fmt.Errorf("node %s has no podCIDR yet", self)
			}
			if err := writeConf(confPath, cidrs, mtu); err != nil {
				return err
			}
			continue
		}
		ip := internalIP(n)
		if ip == nil {
			continue
		}
		for _, c := range cidrs {
			_, dst, err := net.ParseCIDR(c)
			if err != nil {
				continue
			}
			route := &netlink.Route{Dst: dst, Gw: ip}
			if err := netlink.RouteReplace(route); err != nil {
				log.Printf("route %s via %s: %v", dst, ip, err)
			}
		}
	}
	return nil
}

func podCIDRs(n *corev1.Node) []string {
	if len(n.Spec.PodCIDRs) > 0 {
		return n.Spec.PodCIDRs
	}
	if n.Spec.PodCIDR != "" {
		return []string{n.Spec.PodCIDR}
	}
	return nil
}

func internalIP(n *corev1.Node) net.IP {
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			if ip := net.ParseIP(a.Address); ip != nil && ip.To4() != nil {
				return ip
			}
		}
	}
	return nil
}

type rangeSet []map[string]string

func writeConf(path string, cidrs []string, mtu int) error {
	var ranges []rangeSet
	var routes []map[string]string
	for _, c := range cidrs {
		ranges = append(ranges, rangeSet{{"subnet": c}})
		if ip, _, err := net.ParseCIDR(c); err == nil && ip.To4() == nil {
			routes = append(routes, map[string]string{"dst": "::/0"})
		} else {
			routes = append(routes, map[string]string{"dst": "0.0.0.0/0"})
		}
	}
	conf := map[string]any{
		"cniVersion": "0.4.0",
		"name":       "breakfix",
		"plugins": []any{
			map[string]any{
				"type":   "ptp",
				"ipMasq": false,
				"mtu":    mtu,
				"ipam": map[string]any{
					"type":    "host-local",
					"dataDir": "/run/cni-ipam-state",
					"routes":  routes,
					"ranges":  ranges,
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	data, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return err
	}
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	tmp := path + ".tmp" // not *.conflist, so the runtime never loads a half-written file
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	log.Printf("wrote %s for %v", path, cidrs)
	return nil
}
