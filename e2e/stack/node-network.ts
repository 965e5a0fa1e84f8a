// The local node's network, fixed since there is one node per machine (node.ts): the pods' CNI
// bridge and /24, and its gateway address, on which pods reach the apiserver (advertised there,
// behind the `kubernetes` Service) and the Git server.
export const NODE = { name: 'kubescribe-node', bridge: 'ksbr0', cidr: '10.244.77.0/24', gateway: '10.244.77.1', cgroupRoot: 'kubescribe-node' } as const;
