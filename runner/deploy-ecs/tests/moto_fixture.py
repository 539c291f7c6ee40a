#!/usr/bin/env python3
"""Creates what an ECS deploy expects to exist, in a moto server: a VPC with two subnets and
a security group, an ECS cluster, and an application load balancer with an HTTP listener on
each port given (default 80). Prints their ids as JSON.
Usage: moto_fixture.py ENDPOINT CLUSTER_NAME [LISTENER_PORT...]
"""
import json
import sys

import boto3

endpoint, cluster = sys.argv[1], sys.argv[2]
ports = [int(p) for p in sys.argv[3:]] or [80]
kw = dict(endpoint_url=endpoint, region_name="us-east-1",
          aws_access_key_id="testing", aws_secret_access_key="testing")
ec2 = boto3.client("ec2", **kw)
ecs = boto3.client("ecs", **kw)
elb = boto3.client("elbv2", **kw)

vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
subnets = [
    ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{az}")["Subnet"]["SubnetId"]
    for i, az in ((1, "a"), (2, "b"))
]
sg = ec2.create_security_group(GroupName=f"{cluster}-tasks", Description="tasks", VpcId=vpc)["GroupId"]
cluster_arn = ecs.create_cluster(clusterName=cluster)["cluster"]["clusterArn"]
lb = elb.create_load_balancer(Name=f"{cluster}-alb"[:32], Subnets=subnets, SecurityGroups=[sg], Type="application")
lb_arn = lb["LoadBalancers"][0]["LoadBalancerArn"]
for port in ports:
    elb.create_listener(LoadBalancerArn=lb_arn, Protocol="HTTP", Port=port,
                        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}])
print(json.dumps({"clusterArn": cluster_arn, "subnets": subnets, "securityGroup": sg, "albArn": lb_arn}))
